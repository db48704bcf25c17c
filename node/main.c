/*
 * main.c - `shoal`, a node (DESIGN.md section 10): parse the flags and
 * the config file (node_config.c), then run the node (node_loop.c).
 * Exit codes: 0 after a clean stop, 1 when the node could not start,
 * 2 for bad flags.
 */
#include <stdio.h>

#include "common/sh_err.h"
#include "node/node.h"

int main(int argc, char **argv)
{
	node_config_t cfg;
	char err[512];
	node_config_default(&cfg);
	int rc = node_config_parse(&cfg, argc, argv, err, sizeof err);
	if (rc == 1) {
		fputs(node_config_usage(), stdout);
		return 0;
	}
	if (rc != SH_OK) {
		fprintf(stderr, "shoal: %s\n", err);
		return 2;
	}
	rc = node_run(&cfg);
	if (rc != SH_OK) {
		fprintf(stderr, "shoal: could not start: %s\n",
		        sh_strerror(rc));
		return 1;
	}
	return 0;
}
