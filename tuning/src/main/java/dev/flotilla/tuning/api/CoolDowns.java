package dev.flotilla.tuning.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;

/** Minimum time between actions on one container. */
public class CoolDowns {

    @Pattern("^[0-9]+(s|m|h)$")
    @Default("\"5m\"")
    @JsonPropertyDescription("Before another raise.")
    private String up = "5m";

    @Pattern("^[0-9]+(s|m|h)$")
    @Default("\"1h\"")
    @JsonPropertyDescription("After any change, before a decrease.")
    private String down = "1h";

    public String getUp() {
        return up;
    }

    public void setUp(String up) {
        this.up = up;
    }

    public String getDown() {
        return down;
    }

    public void setDown(String down) {
        this.down = down;
    }


}
