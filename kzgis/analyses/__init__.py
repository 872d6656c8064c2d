"""Analyses, one module each; every module registers itself with :func:`kzgis.analysis.register`."""
