"""What a task is, independent of where it is stored and how it is shown.

models      a task's fields, declared once, and what derives from them
validation  the rules for what callers give and for what taskcli stores
query       what to list (status, page)
clock       the time, injected (tests fix it)
"""
