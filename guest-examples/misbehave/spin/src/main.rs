//! `spin` (test-only): burns CPU forever without ever yielding to the host (no imports called
//! in the loop), to test epoch/fuel deadlines and that one spinning pod does not starve others.

fn main() {
    guest_support::init_command();
    println!("spin: looping forever");
    let mut x: u64 = 0;
    loop {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}
