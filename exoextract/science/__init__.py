"""Light curves in, numbers out: cleaning and detrending, the period search and its
kernels, vetting at an ephemeris, ephemeris matching, synthetic stars."""
