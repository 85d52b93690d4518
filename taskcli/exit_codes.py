"""Every exit code `tasks` documents (README, `tasks --help`), named once.

Plain integers, standard library only: the entry point imports this before
anything else, and an enum would cost it more than a whole warm command.
"""

OK = 0
FAILED = 1  # a task does not exist, a prompt was declined, the output failed
USAGE = 2  # invalid usage or input; nothing was written
STORAGE = 3  # the database cannot be used (or the HTTP API is not installed)
INTERNAL = 70  # a bug in taskcli, or the command server died mid-command (EX_SOFTWARE)
INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)

# What each code means, in the words of `tasks --help`.
SUMMARY = {
    OK: "ok",
    FAILED: "task not found, answered no, or output failed",
    USAGE: "invalid usage or input",
    STORAGE: "storage problem",
    INTERNAL: "internal error",
    INTERRUPTED: "interrupted",
}
