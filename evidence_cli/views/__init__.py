"""Pure functions over claims and the lexicon: catalogues, citation index, domain views. They never print."""
