package dev.flotilla.core.controller;

import dev.flotilla.core.reconcile.ObjectKey;

/**
 * Decides whether this replica works on a key. Checked twice: when an event would queue the key
 * (refused keys never enter the queue) and again just before a worker reconciles it (a key queued
 * before this replica lost its shard is dropped). The sharding module implements it; without
 * sharding every key is admitted.
 *
 * <pre>{@code
 * KeyGate onlyShop = key -> key.namespace().equals("shop");
 * }</pre>
 */
@FunctionalInterface
public interface KeyGate {

    boolean admits(ObjectKey key);

    static KeyGate admitAll() {
        return key -> true;
    }
}
