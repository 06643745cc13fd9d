package dev.flotilla.testing.docs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The fenced code blocks of a Markdown file, so that tests can compile, apply or run what the
 * documentation shows instead of a copy of it.
 *
 * <pre>{@code
 * for (MarkdownBlocks.Block b : MarkdownBlocks.of(MarkdownBlocks.repositoryFile("README.md"))) {
 *     if (b.language().equals("java")) {
 *         System.out.println(b.file() + ":" + b.line());
 *     }
 * }
 * }</pre>
 */
public final class MarkdownBlocks {

    /**
     * One fenced block.
     *
     * @param file     the Markdown file
     * @param line     1-based line of the block's first content line
     * @param language the info string's first word, empty if none
     * @param text     the content, lines joined with {@code \n}, ending with one
     */
    public record Block(Path file, int line, String language, String text) {
        public Block {
            Objects.requireNonNull(file, "file");
            Objects.requireNonNull(language, "language");
            Objects.requireNonNull(text, "text");
        }

        /** {@code README.md:42}, for assertion messages. */
        public String where() {
            return file.getFileName() + ":" + line;
        }
    }

    private MarkdownBlocks() {
    }

    /** Every fenced block of {@code markdown} in order; an unclosed fence is an error naming its line. */
    public static List<Block> of(Path markdown) {
        List<String> lines;
        try {
            lines = Files.readAllLines(markdown);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + markdown, e);
        }
        List<Block> blocks = new ArrayList<>();
        int i = 0;
        while (i < lines.size()) {
            String open = lines.get(i).strip();
            if (!open.startsWith("```")) {
                i++;
                continue;
            }
            String info = open.substring(3).strip();
            String language = info.isEmpty() ? "" : info.split("\\s+")[0];
            int start = i + 1;
            StringBuilder text = new StringBuilder();
            int j = start;
            while (j < lines.size() && !lines.get(j).strip().equals("```")) {
                text.append(lines.get(j)).append('\n');
                j++;
            }
            if (j == lines.size()) {
                throw new IllegalArgumentException(markdown + ":" + (i + 1) + ": fence not closed");
            }
            blocks.add(new Block(markdown, start + 1, language, text.toString()));
            i = j + 1;
        }
        return List.copyOf(blocks);
    }

    /**
     * A file at the repository's root, found by walking up from the working directory (a module's
     * directory under Maven) to the directory holding {@code mvnw}.
     */
    public static Path repositoryFile(String name) {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isRegularFile(dir.resolve("mvnw"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException("no repository root (a directory with mvnw) above " + Path.of("").toAbsolutePath());
        }
        return dir.resolve(name);
    }
}
