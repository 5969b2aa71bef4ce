"""Ensembles: the spec, the combination of members' vectors, the saved artifact, and the live encoders."""

from embedkit.encoders.ensemble.artifact import EnsembleArtifact
from embedkit.encoders.ensemble.combination import check_members, combine, identity_sha256, member_record, normalise_rows
from embedkit.encoders.ensemble.spec import Member, parse_members, spec_name

__all__ = ["EnsembleArtifact", "Member", "check_members", "combine", "identity_sha256", "member_record",
           "normalise_rows", "parse_members", "spec_name"]
