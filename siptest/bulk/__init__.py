"""`siptest bulk`: check the registration of many accounts, paced, in child processes.

accounts.py   the accounts file (CSV; no password in it, ever)
pacing.py     a token bucket per registrar (pure: time is passed in)
runner.py     one `siptest register --json` child per account, paced, bounded
"""
