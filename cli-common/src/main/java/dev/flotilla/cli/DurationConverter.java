package dev.flotilla.cli;

import dev.flotilla.core.settings.Durations;
import java.time.Duration;
import picocli.CommandLine;

/**
 * Parses a duration option ({@code 30s}, {@code 500ms}, {@code 2m}, {@code PT30S}) with
 * {@link Durations#parse}; a bad value becomes a usage error (exit 2) naming the option.
 *
 * <pre>{@code
 * class WaitCommand {
 *     @CommandLine.Option(names = "--timeout", converter = DurationConverter.class)
 *     Duration timeout;
 * }
 * }</pre>
 */
public final class DurationConverter implements CommandLine.ITypeConverter<Duration> {

    @Override
    public Duration convert(String value) {
        try {
            return Durations.parse(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
