// Archiving: placeholder until the packages issue lands.
