package shm

import "math"

// maxMapping is the largest mapping this process can address: on 32-bit
// systems a little under 2 GiB (an int), far more on 64-bit ones.
const maxMapping = math.MaxInt
