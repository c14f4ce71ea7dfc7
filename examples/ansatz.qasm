// A small hardware-efficient ansatz on 4 qubits with two free angles.
// Used by examples/sweep.toml (the `make run` demo): theta x phi on a 50 x 40 grid.
OPENQASM 3.0;
include "stdgates.inc";

input float theta;
input float phi;

qubit[4] q;
bit[4] c;

// layer 1: rotations
ry(theta) q[0];
ry(theta / 2) q[1];
ry(-theta) q[2];
ry(2 * theta) q[3];
// entangle in a chain
cx q[0], q[1];
cx q[1], q[2];
cx q[2], q[3];
// layer 2: phases, then mix back
rz(phi) q[0];
rz(phi - theta) q[1];
rzz(phi / 2) q[2], q[3];
rx(phi) q[3];
h q[0];

c = measure q;
