"""Corpora: text grammar, speakers, speech synthesizers, corpus builders and readers for real corpora."""
