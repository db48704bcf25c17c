/*
 * sim.h - the modes of shoal-sim, the deterministic simulator (DESIGN.md
 * sections 2 and 11). tests/sim/shoal_sim.c dispatches on argv[1] to one
 * of these.
 *
 * Each mode's main gets the command line from the mode name on: argv[0] is
 * "ring", "crdt", ..., its options follow (a mode also accepts being handed
 * the whole command line, with its name in argv[1]). It returns the exit
 * status: 0 when every check passed, 1 when one failed, 2 on a usage error
 * (after printing its usage to stderr). Output is a function of the
 * arguments alone, so the same arguments give the same bytes.
 */
#ifndef SIM_H
#define SIM_H

/* sim_ring_main - `shoal-sim ring`: ring balance and movement (sim_ring.c). */
int sim_ring_main(int argc, char **argv);

/* sim_crdt_main - `shoal-sim crdt`: CRDT convergence (sim_crdt.c). */
int sim_crdt_main(int argc, char **argv);

/* sim_swim_main - `shoal-sim swim`: SWIM membership (sim_swim.c). */
int sim_swim_main(int argc, char **argv);

/* sim_cluster_main - `shoal-sim cluster`: whole nodes, clients, crashes
 * and the lost-write check (sim_cluster.c). */
int sim_cluster_main(int argc, char **argv);

/* sim_aae_main - `shoal-sim aae`: what Merkle anti-entropy costs when one
 * replica differs (sim_aae.c); a benchmark, not a check. */
int sim_aae_main(int argc, char **argv);

#endif /* SIM_H */
