// Module MediaBuilder: builds boot media for one node from a site (Talos configs, packages, image cache),
// verifies and flashes it. I/O and orchestration over the pure writers in `Media` (issue 6).
