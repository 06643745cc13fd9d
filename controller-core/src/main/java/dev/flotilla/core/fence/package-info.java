/**
 * The write fence: whether this replica may still send a write, asked right before each attempt
 * leaves the process ({@link dev.flotilla.core.fence.WriteFence}), and how a refused write shows up
 * in a reconcile ({@link dev.flotilla.core.fence.FencedWrite}).
 */
package dev.flotilla.core.fence;
