"""The fast path to a command: the `tasks` entry point and the command server.

Standard library only (and taskcli.exit_codes), so the entry point starts in
milliseconds; the Typer app is imported only to run a command in-process
(client) or once per server (daemon).

    client    the entry point: run through the server, else in-process
    daemon    the per-user command server: the stack imported once, a fork per command
    protocol  the wire format between them (framing, messages, peer credentials)
    paths     where a server lives (its private folder, socket, lock) and the code fingerprint
    spawn     starting a server in the background
    control   `tasks server status` and `stop`
    peer      the caller's security context, compared and adopted in the server's child
    stdio     flushing the output at exit; running a command on swapped stdio
"""
