/*
 * shoal_sim.c - main of shoal-sim, the deterministic simulator: picks the
 * mode named by argv[1] and runs it (modes are declared in sim.h).
 *
 *   shoal-sim MODE [options]     run a mode; `shoal-sim MODE --help` for its
 *                                options
 *   shoal-sim help | --help      list the modes
 */
#include <stdio.h>
#include <string.h>

#include "tests/sim/sim.h"

typedef struct sim_mode {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *what;
} sim_mode_t;

static const sim_mode_t modes[] = {
    {"ring", sim_ring_main,
     "ownership balance and data movement of the hash ring"},
    {"crdt", sim_crdt_main,
     "convergence of the CRDTs over a lossy, reordering network"},
    {"swim", sim_swim_main,
     "SWIM membership: detection and agreement under faults"},
    {"cluster", sim_cluster_main,
     "whole nodes with clients, crashes and loss: no acknowledged write "
     "lost"},
    {"aae", sim_aae_main,
     "anti-entropy cost: bytes exchanged against bytes that differ"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: shoal-sim MODE [options]\n"
	             "       shoal-sim MODE --help   options of one mode\n"
	             "modes:\n");
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		fprintf(out, "  %-7s %s\n", modes[i].name, modes[i].what);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(argv[1], modes[i].name) == 0)
			return modes[i].main(argc - 1, argv + 1);
	fprintf(stderr, "shoal-sim: unknown mode '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
