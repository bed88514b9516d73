"""csteer's performance suite: each case measures csteer against a baseline side by side in one run."""
