/*
 * main.c - placeholder entry point (replaced when the daemon is wired).
 */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "igdd: not wired yet\n");
	return 1;
}
