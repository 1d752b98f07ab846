module keyport.example/hello

go 1.19
