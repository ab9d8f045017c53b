"""The window's views and dialogs."""
