"""Ensembles: the combination of members' vectors, the saved artifact, and the live encoders.

The spec grammar (`a+b*0.5`) is part of the one name grammar, `embedkit.encoders.names`.
"""

from embedkit.encoders.ensemble.artifact import EnsembleArtifact
from embedkit.encoders.ensemble.combination import check_members, combine, identity_sha256, normalise_rows
from embedkit.encoders.names import Member, parse_members, spec_name

__all__ = ["EnsembleArtifact", "Member", "check_members", "combine", "identity_sha256", "normalise_rows",
           "parse_members", "spec_name"]
