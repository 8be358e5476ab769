"""Trust: the only writer of an agent's score and level."""
