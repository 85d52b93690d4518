"""The HTTP API (`tasks serve`, the optional extra taskcli[api]): FastAPI routes
over the same service, database and JSON objects as the CLI.

app     the routes, the context dependency, errors as HTTP statuses
models  what a client sends: a new task, a partial update
guard   the edges: the log line, the token, the body limit, storage errors
server  running it: uvicorn on the socket `tasks serve` bound
connections  what each connection may hold: deadlines, how many at once
"""
