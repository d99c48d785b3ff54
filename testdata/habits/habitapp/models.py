import os

# Which process set Django up: a server forked from a preloader that did
# so finds another pid here.
LOADED_BY = os.getpid()
