"""The Python API lists the encoders and looks their names up without importing a model library."""

from __future__ import annotations

import json


def test_the_python_api_lists_and_looks_up_names_without_importing_a_model_library():
    import subprocess
    import sys

    code = ("import json, sys\n"
            "from embedkit import list_encoders\n"
            "from embedkit.encoders import encoder_entry, entry_record, vector_name_candidates\n"
            "for entry in list_encoders():\n"
            "    entry_record(entry)\n"
            "    available = entry.info.get('weights_available')\n"
            "    available and available()\n"
            "encoder_entry('clip:ViT-B-32/openai'), encoder_entry('mobilenet_v2.random-32px')\n"
            "vector_name_candidates('vgg16-fc2')\n"
            "print(json.dumps([m for m in ('torch', 'torchvision', 'open_clip', 'transformers', "
            "'sentence_transformers') if m in sys.modules]))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == []
