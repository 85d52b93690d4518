"""Files other tools (and taskcli's own export) read and write: readers turn a
file's lines into Records, writers turn listing rows into text. Pure: no store,
no terminal; the service applies taskcli's rules to what readers give."""
