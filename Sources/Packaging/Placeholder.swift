// Packaging: placeholder until the packages issue lands.
