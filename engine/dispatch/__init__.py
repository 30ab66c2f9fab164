"""Dispatch: routing by the process's `dispatch:` rules (routing), teams and rotas (rotas), offers' clocks (offers)."""
