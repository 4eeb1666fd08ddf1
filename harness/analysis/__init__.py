"""Analysis of one (model, layer, benchmark) triple: the token selection, the figures, the verdict, the label check."""
