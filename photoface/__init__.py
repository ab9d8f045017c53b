"""photoface: a local, private photo organiser that finds and groups faces."""

__version__ = "0.1.0"
APP_NAME = "photoface"
