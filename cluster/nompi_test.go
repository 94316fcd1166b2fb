//go:build !mpi

package cluster

import (
	"strings"
	"testing"

	"github.com/descent-go/descent/internal/testutil"
)

func TestJoinWithoutMPI(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string // "" means Join succeeds with one rank
	}{
		{map[string]string{}, ""},
		{map[string]string{"OMPI_COMM_WORLD_SIZE": "1"}, ""},
		{map[string]string{"PMI_SIZE": "1"}, ""},
		{map[string]string{"OMPI_COMM_WORLD_SIZE": "2"}, "started as one of 2 ranks (OMPI_COMM_WORLD_SIZE=2) but built without MPI"},
		{map[string]string{"PMI_SIZE": "64"}, "started as one of 64 ranks (PMI_SIZE=64)"},
		{map[string]string{"OMPI_COMM_WORLD_SIZE": "two"}, `OMPI_COMM_WORLD_SIZE="two" is not a positive rank count`},
		{map[string]string{"PMI_SIZE": "0"}, `PMI_SIZE="0" is not a positive rank count`},
		{map[string]string{"PMIX_SIZE": "4"}, "started as one of 4 ranks (PMIX_SIZE=4)"},
	} {
		t.Run(strings.Join(keys(c.env), ","), func(t *testing.T) {
			t.Setenv("OMPI_COMM_WORLD_SIZE", "")
			t.Setenv("PMI_SIZE", "")
			t.Setenv("PMIX_SIZE", "")
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			j, err := Join()
			if c.want == "" {
				if err != nil || j.Rank() != 0 || j.Size() != 1 {
					t.Fatalf("Join: %v, %v; want a one-rank job", j, err)
				}
				return
			}
			testutil.ErrContains(t, err, c.want)
			if strings.Contains(c.want, "built without") {
				testutil.ErrContains(t, err, "-tags mpi")
			}
		})
	}
}

func keys(m map[string]string) []string {
	var s []string
	for k, v := range m {
		s = append(s, k+"="+v)
	}
	return s
}
