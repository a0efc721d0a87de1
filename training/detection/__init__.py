"""Object detection in the trainer (`--task detection`). data.py imports no torch: the bot uses it to
recognise and describe detection datasets."""
