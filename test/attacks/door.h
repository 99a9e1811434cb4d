/* Shared conventions of the door_*.c attack programs: exit 0 = the door stayed closed,
 * 1 = it opened (the attack had its effect), 77 = cannot be tried here (the kernel refuses
 * it natively too). argv[1] is a scratch directory. */
#pragma once
#include <stdio.h>
#include <stdlib.h>
#define DOOR_CLOSED 0
#define DOOR_OPEN 1
#define DOOR_SKIP 77
#define closed(...) do { printf("closed: " __VA_ARGS__); printf("\n"); exit(DOOR_CLOSED); } while (0)
#define opened(...) do { printf("OPEN: " __VA_ARGS__); printf("\n"); exit(DOOR_OPEN); } while (0)
#define skip(...) do { printf("skip: " __VA_ARGS__); printf("\n"); exit(DOOR_SKIP); } while (0)
