package dev.flotilla.cli;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.encoder.EncoderBase;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.slf4j.event.KeyValuePair;

/**
 * {@code --log-format json}: one JSON object per line, the shape log pipelines expect from controllers (zap's in
 * controller-runtime): {@code ts} (ISO-8601, milliseconds), {@code level}, {@code logger}, {@code thread}, {@code msg},
 * then the event's key-value pairs as fields of their own ({@code shard}, {@code replica}, {@code namespace} ...), and
 * {@code error} for an attached exception (its class and message, with its causes, on the same line). A pair whose key
 * is one of those names is prefixed with {@code kv.}, so nothing is overwritten.
 *
 * <pre>{@code
 * JsonLogEncoder encoder = new JsonLogEncoder();
 * encoder.start();
 * }</pre>
 */
public final class JsonLogEncoder extends EncoderBase<ILoggingEvent> {

    static final Set<String> FIXED = Set.of("ts", "level", "logger", "thread", "msg", "error");

    @Override
    public byte[] headerBytes() {
        return null;
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("ts", Instant.ofEpochMilli(event.getTimeStamp()).truncatedTo(ChronoUnit.MILLIS).toString());
        line.put("level", event.getLevel().toString());
        line.put("logger", event.getLoggerName());
        line.put("thread", event.getThreadName());
        line.put("msg", event.getFormattedMessage());
        if (event.getKeyValuePairs() != null) {
            for (KeyValuePair kv : event.getKeyValuePairs()) {
                Object v = kv.value instanceof Number || kv.value instanceof Boolean ? kv.value : String.valueOf(kv.value);
                line.put(FIXED.contains(kv.key) ? "kv." + kv.key : kv.key, v);
            }
        }
        IThrowableProxy t = event.getThrowableProxy();
        if (t != null) {
            line.put("error", OneLineThrowableConverter.summary(t));
        }
        return (Json.write(line) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public byte[] footerBytes() {
        return null;
    }
}
