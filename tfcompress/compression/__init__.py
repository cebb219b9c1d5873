"""Compression of trained models into structured weight matrices (LMF, HMF, KP, DKP)."""
