"""Numeric checks of the lemmas the papers' proofs rest on: one module per paper, run by pytest
and by ``mdptheory check [NAME]``. ``foundation`` holds the lemmas shared by all of them."""
