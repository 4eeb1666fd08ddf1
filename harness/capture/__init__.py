"""Capture: hooks on the decoder's layers, the KeyBank, token caps, mechanism metrics and the key cache."""
