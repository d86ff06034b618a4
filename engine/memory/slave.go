package memory

// Slave carries out transactions (Rogue's memory::Slave).
type Slave interface {
	// MinAccess is the smallest access, and the alignment, the slave
	// takes; MaxAccess the largest (Rogue's doMinAccess/doMaxAccess).
	MinAccess() uint32
	MaxAccess() uint32
	// Address is the slave's base address (Rogue's doAddress).
	Address() uint64
	// DoTransaction starts tx; see the package doc for the contract.
	DoTransaction(tx *Transaction)
}
