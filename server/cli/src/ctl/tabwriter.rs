//! Go's `text/tabwriter` alignment, which kubectl's tables and `describe` are laid out with, so
//! our columns line up exactly where kubectl's do.
//!
//! Input is text whose cells end in `\t`; a line's last cell (no tab after it) is never padded.
//! A column is aligned over the consecutive lines that have a cell in it (a "column block").

/// Align `text`; `minwidth` and `padding` as in Go (kubectl get: 6 and 3, describe: 0 and 2).
pub fn align(text: &str, minwidth: usize, padding: usize) -> String {
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    let mut out = String::with_capacity(text.len() * 2);
    let mut widths = Vec::new();
    format(&lines, 0, lines.len(), &mut widths, minwidth, padding, &mut out);
    out
}

fn width(cell: &str) -> usize {
    cell.chars().count()
}

/// Go's `Writer.format`: find the blocks of lines that have a cell in the next column, size that
/// column per block, and recurse for the columns to its right.
fn format(
    lines: &[Vec<&str>],
    mut line0: usize,
    line1: usize,
    widths: &mut Vec<usize>,
    minwidth: usize,
    padding: usize,
    out: &mut String,
) {
    let column = widths.len();
    let mut this = line0;
    while this < line1 {
        if column + 1 >= lines[this].len() {
            this += 1;
            continue;
        }
        write_lines(lines, line0, this, widths, out);
        line0 = this;
        let mut w = minwidth;
        while this < line1 && column + 1 < lines[this].len() {
            w = w.max(width(lines[this][column]) + padding);
            this += 1;
        }
        widths.push(w);
        format(lines, line0, this, widths, minwidth, padding, out);
        widths.pop();
        line0 = this;
    }
    write_lines(lines, line0, line1, widths, out);
}

fn write_lines(lines: &[Vec<&str>], from: usize, to: usize, widths: &[usize], out: &mut String) {
    for line in &lines[from..to] {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if j + 1 < line.len()
                && let Some(w) = widths.get(j)
            {
                out.extend(std::iter::repeat_n(' ', w.saturating_sub(width(cell))));
            }
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::align;

    #[test]
    fn kubectl_get_layout() {
        let t = "NAME\tREADY\tAGE\nweb\t0/2\t4s\nlonger-name\t1/1\t10m\n";
        assert_eq!(
            align(t, 6, 3),
            "NAME          READY   AGE\nweb           0/2     4s\nlonger-name   1/1     10m\n"
        );
    }

    #[test]
    fn describe_blocks_align_separately() {
        let t = "Name:\tweb\nNamespace:\tdefault\nContainers:\n  a:\n    Image:\tx\n    Restart Count:\t0\n";
        assert_eq!(
            align(t, 0, 2),
            "Name:       web\nNamespace:  default\nContainers:\n  a:\n    Image:          x\n    Restart Count:  0\n"
        );
    }
}
