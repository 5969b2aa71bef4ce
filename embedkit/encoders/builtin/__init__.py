"""The built-in encoders, each registered through the same hook as a third-party plugin's.

Every family is laid out the same way, so that listing names imports no model library and no two modules
import each other:

- `<family>.py` is the plugin: `register_encoders` and `create_encoder`, which imports the model module
  when an encoder is created;
- `<family>_pretrained.py`, where a family has them, holds what it knows without torch that both need:
  the weights it offers and where their files are (tables, or the cards of fine-tuned models);
- `<family>_model.py` builds the encoder (`build_encoder`) with torch and the family's library; it imports
  `<family>_pretrained.py`, never `<family>.py`.

The ensemble families' model is the `embedkit.encoders.ensemble` room (`ensemble.builders`), which analysis
shares.
"""
