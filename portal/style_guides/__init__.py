"""A style guide per client company: tone, audience, words to use and to avoid, formatting
rules and examples, kept by the company's people and by managers, frozen on each order at its
submission and checked in the text delivered (portal/orders/checks.py, portal/orders/report.py).
"""
