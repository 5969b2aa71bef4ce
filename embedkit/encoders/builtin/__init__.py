"""The built-in encoders, each registered through the same hook as a third-party plugin's."""
