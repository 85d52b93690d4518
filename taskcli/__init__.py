"""taskcli: a command-line task manager for people at a terminal and for shell scripts."""

__version__ = "2.3.0"
