"""Language processing for linernotes: finding, labelling and linking music mentions in text."""
