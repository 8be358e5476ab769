"""Attestations: signed statements (compact JWS) about one agent from registered attestors.

``models`` holds the registered attestors and the accepted statements (verbatim), ``verify``
checks a submission against the attestor's pinned key (RFC 7515, RFC 8725), ``services`` are
the writes (register, change, revoke an attestor; accept or reject a submission, audited),
``selectors`` the reads, among them ``attestation_factors`` for the trust score.
"""
