/** The syntax of Kubernetes names, defined once for every module. */
package dev.flotilla.core.names;
