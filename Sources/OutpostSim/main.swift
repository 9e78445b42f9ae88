// outpost-sim: the test-only cluster simulator's command (see issue "Cluster simulator").
print("outpost-sim: not built yet")
