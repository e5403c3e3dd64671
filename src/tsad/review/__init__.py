"""Model review for operations teams: the model card of every registered version, and champion/challenger promotion.

Every version a training run registers (``<method>_<ds>``) gets its model card as description, the tag
``validation_status: pending`` and the alias ``challenger`` (``tsad.hooks``). The model in service for a dataset
is the registered model named after the dataset (``models:/swat@champion``): ``promote_<ds>`` compares the
challenger with that champion on the held-out test split and, when the rules pass and ``approve`` is given, copies
the challenger into it as the new ``champion`` and keeps the old one as ``previous_champion``; ``rollback_<ds>``
swaps the two back (``promotion.py``).
"""

CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS_CHAMPION = "previous_champion"
